// The nylas SDK's class, typed correctly under NodeNext: the package has no "type": "module", so
// TypeScript reads its ESM typings as CommonJS and thinks the default import is the module
// object, while at run time (lib/esm) it is the class itself.
import nylasModule from 'nylas';

/** The Nylas client class. */
export type NylasClient = InstanceType<typeof nylasModule.default>;
type NylasClass = typeof nylasModule.default;

const loaded: unknown = nylasModule;

/** The Nylas client class, whichever way the module was loaded. */
export const Nylas = (typeof loaded === 'function' ? loaded : nylasModule.default) as NylasClass;
