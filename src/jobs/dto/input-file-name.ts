import { ValidateBy, type ValidationOptions } from 'class-validator';

/** Most file systems (ext4, APFS, NTFS) allow 255 bytes, or UTF-16 units, in one name. */
export const MAX_INPUT_FILE_NAME_BYTES = 255;

/**
 * Why `name` cannot be an input image's file name, or null when it can. The name becomes a file in the job's
 * input folder here and is uploaded under it to ComfyUI (Linux, Windows or macOS), so it must be one plain
 * name on all of them: no path, no drive, no stream, nothing the file system refuses.
 */
export function inputFileNameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return 'must be a string';
  if (name.length === 0) return 'must not be empty';
  if (name === '.' || name === '..') return `must be a file name, not "${name}"`;
  if (/[/\\]/.test(name)) return 'must be a plain file name (no / or \\)';
  if (name.includes(':')) return 'must not contain ":" (a Windows drive or stream)';
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused here
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'must not contain NUL or other control characters';
  if (/\p{Cs}/u.test(name)) return 'must be valid Unicode (no unpaired surrogates)';
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_INPUT_FILE_NAME_BYTES) {
    return `must be at most ${MAX_INPUT_FILE_NAME_BYTES} bytes in UTF-8 (it has ${bytes})`;
  }
  return null;
}

/** class-validator rule for `inputFileNameProblem`; the message names the property and the reason. */
export function IsInputFileName(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isInputFileName',
      validator: {
        validate: (value: unknown) => inputFileNameProblem(value) === null,
        defaultMessage: (args) => `${args?.property ?? 'name'} ${inputFileNameProblem(args?.value)}`,
      },
    },
    options,
  );
}
