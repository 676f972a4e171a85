import { inspect } from 'node:util';
import { loadConfig } from './app-config';
import { ConfigError } from './env-parsers';
import { POD_ENV_LIMITS, readPodEnv, readPodSettings } from './runpod-pod-settings';

const SECRET = 'hf_s3cr3tT0kenValue9876';

/** The message of the ConfigError `fn` throws (fails the test when it does not throw one). */
function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('RunPod pod settings', () => {
  it('defaults to no volume, no data center, no template and no extra environment', () => {
    expect(loadConfig({}).runpod.pod).toEqual({
      networkVolumeId: undefined,
      networkVolumeMountPath: '/workspace',
      dataCenterIds: [],
      templateId: undefined,
      env: {},
    });
  });

  it('reads every setting', () => {
    const config = loadConfig({
      RUNPOD_NETWORK_VOLUME_ID: 'agv6w2qcg7',
      RUNPOD_NETWORK_VOLUME_MOUNT_PATH: '/runpod-volume',
      RUNPOD_DATA_CENTER_IDS: 'EU-RO-1, US-TX-3',
      RUNPOD_TEMPLATE_ID: '30zmvf89kd',
      RUNPOD_POD_ENV: `{"HF_TOKEN":"${SECRET}","COMFY_ARGS":"--lowvram","EMPTY":""}`,
      RUNPOD_CONTAINER_DISK_GB: '80',
    });
    expect(config.runpod.containerDiskInGb).toBe(80);
    expect(config.runpod.pod).toEqual({
      networkVolumeId: 'agv6w2qcg7',
      networkVolumeMountPath: '/runpod-volume',
      dataCenterIds: ['EU-RO-1', 'US-TX-3'],
      templateId: '30zmvf89kd',
      env: { HF_TOKEN: SECRET, COMFY_ARGS: '--lowvram', EMPTY: '' },
    });
  });

  it('keeps env values out of JSON and inspect output (names stay visible)', () => {
    const config = loadConfig({ RUNPOD_POD_ENV: `{"HF_TOKEN":"${SECRET}"}` });
    expect(config.runpod.pod.env.HF_TOKEN).toBe(SECRET);
    expect({ ...config.runpod.pod.env }).toEqual({ HF_TOKEN: SECRET });
    expect(Object.keys(config.runpod.pod.env)).toEqual(['HF_TOKEN']);
    for (const text of [JSON.stringify(config), inspect(config, { depth: 10 }), inspect(config.runpod.pod.env)]) {
      expect(text).not.toContain(SECRET);
      expect(text).toContain('HF_TOKEN');
    }
    expect(Object.isFrozen(config.runpod.pod.env)).toBe(true);
  });

  it.each([
    ['not JSON', `{"HF_TOKEN": ${SECRET}}`, 'RUNPOD_POD_ENV is not valid JSON'],
    ['truncated JSON', `{"HF_TOKEN":"${SECRET}"`, 'RUNPOD_POD_ENV is not valid JSON (at character'],
    ['an array', `["HF_TOKEN=${SECRET}"]`, 'RUNPOD_POD_ENV must be a JSON object of string values'],
    ['KEY=value text', `HF_TOKEN=${SECRET}`, 'RUNPOD_POD_ENV is not valid JSON'],
    ['a number value', `{"HF_TOKEN":"${SECRET}","STEPS":20}`, 'RUNPOD_POD_ENV STEPS must have a string value'],
    ['a null value', '{"HF_TOKEN":null}', 'RUNPOD_POD_ENV HF_TOKEN must have a string value'],
    ['a bad name', `{"HF-TOKEN":"${SECRET}"}`, 'RUNPOD_POD_ENV entry 1: the name must be letters'],
    ['a secret pasted as a name', `{"OK":"1","${SECRET}-x":""}`, 'RUNPOD_POD_ENV entry 2: the name must be'],
    ['a name starting with a digit', '{"1X":"a"}', 'RUNPOD_POD_ENV entry 1: the name must be'],
    ['a NUL in a value', `{"HF_TOKEN":"${SECRET}\\u0000"}`, 'RUNPOD_POD_ENV HF_TOKEN has a value with a NUL'],
  ])('rejects %s with a message that quotes no value', (_case, value, expected) => {
    const message = messageOf(() => loadConfig({ RUNPOD_POD_ENV: value }));
    expect(message).toContain(expected);
    expect(message).not.toContain(SECRET);
    expect(message).not.toContain(SECRET.slice(0, 8));
  });

  it('bounds the number of variables, the name and value lengths and the whole text', () => {
    const many = Object.fromEntries(
      Array.from({ length: POD_ENV_LIMITS.maxVariables + 1 }, (_, i) => [`V${i}`, 'x']),
    );
    expect(messageOf(() => readPodEnv({ RUNPOD_POD_ENV: JSON.stringify(many) }))).toContain(
      `has ${POD_ENV_LIMITS.maxVariables + 1} variables; at most ${POD_ENV_LIMITS.maxVariables}`,
    );
    const longName = 'N'.repeat(POD_ENV_LIMITS.maxNameLength + 1);
    expect(messageOf(() => readPodEnv({ RUNPOD_POD_ENV: `{"${longName}":"x"}` }))).toContain('entry 1');
    const longValue = SECRET.repeat(Math.ceil(POD_ENV_LIMITS.maxValueLength / SECRET.length) + 1);
    const tooLong = messageOf(() => readPodEnv({ RUNPOD_POD_ENV: `{"HF_TOKEN":"${longValue}"}` }));
    expect(tooLong).toContain(`HF_TOKEN has a value longer than ${POD_ENV_LIMITS.maxValueLength}`);
    expect(tooLong).not.toContain(SECRET);
    const huge = JSON.stringify({ A: 'x'.repeat(POD_ENV_LIMITS.maxTotalChars) });
    expect(messageOf(() => readPodEnv({ RUNPOD_POD_ENV: huge }))).toContain(
      `at most ${POD_ENV_LIMITS.maxTotalChars}`,
    );
    // At the limits it is accepted.
    const atLimit = { HF_TOKEN: 'v'.repeat(POD_ENV_LIMITS.maxValueLength) };
    expect(readPodEnv({ RUNPOD_POD_ENV: JSON.stringify(atLimit) }).HF_TOKEN).toHaveLength(
      POD_ENV_LIMITS.maxValueLength,
    );
  });

  it.each([
    ['RUNPOD_NETWORK_VOLUME_ID', 'vol 1', 'RUNPOD_NETWORK_VOLUME_ID must be a RunPod network volume id'],
    ['RUNPOD_TEMPLATE_ID', 'a/b', 'RUNPOD_TEMPLATE_ID must be a RunPod template id'],
    ['RUNPOD_NETWORK_VOLUME_MOUNT_PATH', 'workspace', 'RUNPOD_NETWORK_VOLUME_MOUNT_PATH must be an absolute path'],
    ['RUNPOD_NETWORK_VOLUME_MOUNT_PATH', '/', 'RUNPOD_NETWORK_VOLUME_MOUNT_PATH must be an absolute path'],
    ['RUNPOD_DATA_CENTER_IDS', 'US-TX-3,US TX 4', 'RUNPOD_DATA_CENTER_IDS entry 2 must be a RunPod data center id'],
    ['RUNPOD_DATA_CENTER_IDS', 'US-TX-3,US-TX-3', 'RUNPOD_DATA_CENTER_IDS lists US-TX-3 twice'],
  ])('rejects %s=%s', (name, value, expected) => {
    expect(messageOf(() => loadConfig({ [name]: value }))).toContain(expected);
  });

  it('accepts one data center with GraphQL (one dataCenterId per pod) and refuses several', () => {
    expect(readPodSettings({ RUNPOD_DATA_CENTER_IDS: 'EU-RO-1' }, 'graphql').dataCenterIds).toEqual(['EU-RO-1']);
    expect(
      messageOf(() => loadConfig({ RUNPOD_POD_API: 'graphql', RUNPOD_DATA_CENTER_IDS: 'EU-RO-1,US-TX-3' })),
    ).toContain('RUNPOD_DATA_CENTER_IDS lists 2 data centers, but the GraphQL API');
    expect(loadConfig({ RUNPOD_DATA_CENTER_IDS: 'EU-RO-1,US-TX-3' }).runpod.pod.dataCenterIds).toHaveLength(2);
  });
});
