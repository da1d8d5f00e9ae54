# nylas-sidecar: build with the dev dependencies, run with production ones only, as `node`.
# Node 24 is an LTS line supported until April 2028 (the sidecar needs Node >= 20.18.1); the tag
# is pinned so that a rebuild gets the same runtime, and CI runs the suite on this same version
# (scripts/shipped-node.mjs reads it from here).
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
# A role is set, so the image never falls into demo mode by surprise (a production image has no
# business running the simulator): set SIDECAR_ROLE=proxy in app pods, pollers in the one polling
# instance, or SIDECAR_DEMO=true.
ENV NODE_ENV=production \
    SIDECAR_ROLE=all \
    SIDECAR_LISTEN=0.0.0.0:4000 \
    SIDECAR_ADMIN_LISTEN=0.0.0.0:9464
WORKDIR /app
# Owned by root and read-only for the `node` user that runs them.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
USER node
# 4000: proxy listener (keep it private: it carries the app's credentials); 9464: admin
# listener (/metrics, /healthz, /readyz, /status).
EXPOSE 4000 9464
# No curl in the image: Node asks /healthz on the admin port from SIDECAR_ADMIN_LISTEN, over
# HTTPS first (SIDECAR_ADMIN_WEB_CONFIG may put it on TLS; the probe needs no credential and,
# like the kubelet, does not check the certificate), then plain HTTP.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const p=(process.env.SIDECAR_ADMIN_LISTEN||'').split(':').pop()||'9464';const g=(m,f)=>require('node:'+m).get({host:'127.0.0.1',port:p,path:'/healthz',rejectUnauthorized:false},r=>process.exit(r.statusCode===200?0:1)).on('error',f);g('https',()=>g('http',()=>process.exit(1)))"]
CMD ["node", "dist/src/main.js"]
