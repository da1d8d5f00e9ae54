// The few schema builders the configuration uses (string, enum, object; default, optional,
// transform), with the names and behaviour of zod's, in 100 lines. The configuration is read by
// every instance, the proxy in every app pod included, and zod costs about 14 MB of memory there;
// zod stays for Nylas's answers, which only the pollers read (nylas/schemas.ts).

/** An issue a transform reports: its message names what is allowed. */
export interface Issue {
  code: 'custom' | 'invalid_type' | 'invalid_value' | 'unrecognized_keys';
  path: string[];
  message: string;
}

interface TransformContext {
  addIssue(issue: { code: 'custom'; message: string }): void;
}

/** Returned by a transform that reported an issue: the value is never used. */
const NEVER = Symbol('never') as never;

/** One setting's parser: takes the raw value (a string or undefined), returns its value. */
/** What the generated reference (docs/reference.md) says of a setting besides its meaning. */
export interface FieldInfo {
  readonly default?: unknown;
  readonly optional?: boolean;
  readonly allowed?: readonly string[];
}

export class Field<In, Out> {
  declare readonly _input: In;
  constructor(
    private readonly run: (v: unknown, issues: string[]) => Out,
    readonly info: FieldInfo = {},
  ) {}

  /** The value, or undefined after adding at least one message to `issues`. */
  parse(v: unknown, issues: string[]): Out {
    return this.run(v, issues);
  }

  /** `value` when the setting is unset. */
  default(value: Exclude<Out, undefined>): Field<In | undefined, Exclude<Out, undefined>> {
    return new Field(
      (v, issues) => (v === undefined ? value : (this.run(v, issues) as Exclude<Out, undefined>)),
      { ...this.info, default: value },
    );
  }

  /** Unset stays undefined. */
  optional(): Field<In | undefined, Out | undefined> {
    return new Field((v, issues) => (v === undefined ? undefined : this.run(v, issues)), {
      ...this.info,
      optional: true,
    });
  }

  transform<T>(fn: (v: Out, ctx: TransformContext) => T): Field<In, T> {
    return new Field((v, issues) => {
      const before = issues.length;
      const out = this.run(v, issues);
      if (issues.length > before) return undefined as T;
      return fn(out, { addIssue: (i) => issues.push(i.message) });
    }, this.info);
  }
}

const string = () =>
  new Field<string, string>((v, issues) => {
    if (typeof v === 'string') return v;
    issues.push('allowed: a single value');
    return '';
  });

const enumOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  new Field<T[number], T[number]>(
    (v, issues) => {
      if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v;
      issues.push(`allowed: ${values.join(', ')}`);
      return values[0];
    },
    { allowed: values },
  );

type AnyField = Field<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Output<S extends Record<string, AnyField>> = {
  [K in keyof S]: S[K] extends Field<unknown, infer O> ? O : never;
};
type Input<S extends Record<string, AnyField>> = {
  [K in keyof S]?: S[K]['_input'];
};

class ObjectSchema<S extends Record<string, AnyField>> {
  declare readonly _input: Input<S>;
  declare readonly _output: Output<S>;
  constructor(readonly shape: S) {}

  /** Unknown keys are issues (they are already, in this object; kept for zod's spelling). */
  strict(): this {
    return this;
  }

  safeParse(
    raw: Record<string, unknown>,
  ): { success: true; data: Output<S> } | { success: false; error: { issues: Issue[] } } {
    const issues: Issue[] = [];
    const data: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(this.shape)) {
      const messages: string[] = [];
      data[key] = field.parse(raw[key], messages);
      for (const message of messages) issues.push({ code: 'custom', path: [key], message });
    }
    for (const key of Object.keys(raw))
      if (!(key in this.shape))
        issues.push({ code: 'unrecognized_keys', path: [key], message: 'unknown setting' });
    return issues.length > 0
      ? { success: false, error: { issues } }
      : { success: true, data: data as Output<S> };
  }
}

const object = <S extends Record<string, AnyField>>(shape: S) => new ObjectSchema(shape);

export const z = { string, enum: enumOf, object, NEVER };

// eslint-disable-next-line @typescript-eslint/no-namespace
export declare namespace z {
  type input<T extends { _input: unknown }> = T['_input'];
  type output<T extends { _output: unknown }> = T['_output'];
}
