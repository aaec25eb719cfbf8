import parsePrometheusTextFormat, {
  type ParsedFamily,
  type ParsedSample,
} from 'parse-prometheus-text-format';

/**
 * A `/metrics` body read by an independent Prometheus text-format parser (a port of the Python
 * client's), with look-ups by name and labels for assertions.
 */
export class Scrape {
  readonly families: ReadonlyMap<string, ParsedFamily>;

  constructor(text: string) {
    this.families = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
  }

  family(name: string): ParsedFamily {
    const family = this.families.get(name);
    if (!family) throw new Error(`metric ${name} not exposed; have: ${[...this.families.keys()].join(', ')}`);
    return family;
  }

  /** The sample of `name` whose labels include `labels`. */
  sample(name: string, labels: Record<string, string> = {}): ParsedSample {
    const found = this.family(name).metrics.find((m) =>
      Object.entries(labels).every(([k, v]) => m.labels?.[k] === v),
    );
    if (!found) throw new Error(`no ${name} sample with labels ${JSON.stringify(labels)}`);
    return found;
  }

  /** A counter's or gauge's value as a number. */
  value(name: string, labels: Record<string, string> = {}): number {
    return Number(this.sample(name, labels).value);
  }
}
