// OptionError: a library option that is missing or wrong. The message speaks of the option in plain words;
// `option` names it (a TrainConfig / ConvertOptions key) so that the CLI can point at its own flag.

export class OptionError extends Error {
  override name = 'OptionError';
  constructor(readonly option: string, message: string) {
    super(message);
  }
}
