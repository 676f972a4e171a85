import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../config/app-config';
import { ConfigError } from '../../config/env-parsers';
import {
  EMPTY_MANIFEST,
  loadManifestFile,
  PINNED_COMFY_CLI_VERSION,
  validateManifest,
} from './install-manifest';

const SHA = 'a'.repeat(64);
const COMMIT = 'b'.repeat(40);
const model = (extra: Record<string, unknown> = {}) => ({
  url: 'https://huggingface.co/x/y/resolve/main/m.safetensors',
  sha256: SHA,
  folder: 'checkpoints',
  filename: 'm.safetensors',
  ...extra,
});
const node = (extra: Record<string, unknown> = {}) => ({
  repo: 'https://github.com/example/ComfyUI-Foo.git',
  commit: COMMIT,
  name: 'ComfyUI-Foo',
  ...extra,
});
const manifest = (extra: Record<string, unknown> = {}) => ({
  version: 1,
  comfyCliVersion: '1.3.8',
  models: [model()],
  customNodes: [node()],
  ...extra,
});

describe('install manifest validation', () => {
  it('accepts a full manifest, lower-cases digests and defaults the comfy-cli version', () => {
    expect(
      validateManifest(manifest({ models: [model({ sha256: SHA.toUpperCase(), authEnv: 'HF_TOKEN' })] })),
    ).toEqual({
      version: 1,
      comfyCliVersion: '1.3.8',
      models: [{ ...model(), authEnv: 'HF_TOKEN' }],
      customNodes: [node()],
    });
    expect(validateManifest({ version: 1 })).toEqual({ ...EMPTY_MANIFEST });
    expect(EMPTY_MANIFEST.comfyCliVersion).toBe(PINNED_COMFY_CLI_VERSION);
  });

  it.each([
    [[], /JSON object/],
    [{ ...manifest(), version: 2 }, /version must be 1/],
    [manifest({ comfyCliVersion: '>=1.0' }), /exact release version/],
    [manifest({ extra: true }), /unknown field\(s\) extra/],
    [manifest({ models: [model({ url: 'http://example.com/m' })] }), /models\[0\]\.url must be an https URL/],
    [manifest({ models: [model({ url: 'https://u:p@example.com/m' })] }), /credentials/],
    [manifest({ models: [model({ url: 'file:///etc/passwd' })] }), /https URL/],
    [manifest({ models: [model({ sha256: 'abc' })] }), /sha256 must be 64 hex/],
    [manifest({ models: [model({ folder: 'custom_nodes' })] }), /folder must be one of/],
    [manifest({ models: [model({ folder: '../x' })] }), /folder must be one of/],
    [manifest({ models: [model({ filename: '../evil.py' })] }), /plain file name/],
    [manifest({ models: [model({ filename: 'a\\b' })] }), /plain file name/],
    [manifest({ models: [model({ filename: '..' })] }), /plain file name/],
    [manifest({ models: [model({ authEnv: 'hf_token' })] }), /authEnv must be an environment variable/],
    [manifest({ models: [model(), model()] }), /listed twice/],
    [manifest({ customNodes: [node({ commit: 'main' })] }), /40 hex/],
    [manifest({ customNodes: [node({ name: '../x' })] }), /customNodes\[0\]\.name/],
    [manifest({ customNodes: [node({ name: '.hidden' })] }), /customNodes\[0\]\.name/],
    [manifest({ customNodes: [node({ repo: 'git@github.com:x/y.git' })] }), /not a URL|https URL/],
    [manifest({ customNodes: 'x' }), /must be a list/],
  ])('refuses %j', (value, message) => {
    expect(() => validateManifest(value)).toThrow(message);
  });

  it('takes http URLs only when allowed (INSTALL_MANIFEST_ALLOW_HTTP)', () => {
    const insecure = manifest({ models: [model({ url: 'http://10.0.0.5/m.safetensors' })] });
    expect(validateManifest(insecure, { allowHttp: true }).models[0].url).toBe(
      'http://10.0.0.5/m.safetensors',
    );
  });

  describe('from INSTALL_MANIFEST_FILE', () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'manifest-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('loads a valid file, and gives the empty manifest when unset', () => {
      const file = join(dir, 'm.json');
      writeFileSync(file, JSON.stringify(manifest()));
      expect(loadManifestFile(file).models).toHaveLength(1);
      expect(loadConfig({ INSTALL_MANIFEST_FILE: file }).install.manifest.customNodes).toHaveLength(1);
      expect(loadConfig({}).install.manifest).toEqual(EMPTY_MANIFEST);
    });

    it('stops startup with a config error naming the variable, the file and the field', () => {
      const file = join(dir, 'bad.json');
      writeFileSync(file, JSON.stringify(manifest({ models: [model({ sha256: 'nope' })] })));
      expect(() => loadConfig({ INSTALL_MANIFEST_FILE: file })).toThrow(ConfigError);
      expect(() => loadConfig({ INSTALL_MANIFEST_FILE: file })).toThrow(
        /INSTALL_MANIFEST_FILE .*bad\.json: models\[0\]\.sha256 must be 64 hex digits/,
      );
      writeFileSync(file, '{"version": 1,');
      expect(() => loadConfig({ INSTALL_MANIFEST_FILE: file })).toThrow(/not valid JSON/);
      expect(() => loadConfig({ INSTALL_MANIFEST_FILE: join(dir, 'absent.json') })).toThrow(
        /cannot read .*ENOENT/,
      );
    });

    it('PUBLIC_URL must be an http(s) URL; its trailing slash is dropped', () => {
      expect(loadConfig({ PUBLIC_URL: 'https://workers.example.com/' }).install.publicUrl).toBe(
        'https://workers.example.com',
      );
      expect(() => loadConfig({ PUBLIC_URL: 'workers.example.com' })).toThrow(/PUBLIC_URL/);
    });
  });
});
