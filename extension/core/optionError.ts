/**
 * A mistake in what the caller asked for (an option value, an output path that would replace an
 * input, input files whose shapes do not fit together), as opposed to a problem with a file's
 * contents: the message is for the user as it is. Surfaces show it as a usage error (the CLI: exit
 * 2 with the command's name), while anything that goes wrong reading a file is reported against that file.
 */
export class OptionError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'OptionError';
  }
}
