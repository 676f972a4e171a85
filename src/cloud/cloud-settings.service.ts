import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { CloudDefaults, ROUTING_PREFERENCES } from '../config/app-config';
import type { AppConfig } from '../config/app-config';
import { InvalidInputError } from '../common/domain-errors';
import { APP_CONFIG } from '../config/config.module';
import { SettingsRepository } from '../persistence/settings.repository';

/** The settings an operator may change at run time; the next tick uses them. */
export type CloudSettings = CloudDefaults;

const SETTINGS_KEY = 'cloud';

/**
 * Current cloud settings: the environment's defaults overlaid with what operators saved through
 * PUT /api/cloud/config (persisted, so a restart keeps them).
 */
@Injectable()
export class CloudSettingsService implements OnModuleInit {
  private readonly logger = new Logger(CloudSettingsService.name);
  private current: CloudSettings;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly settings: SettingsRepository,
  ) {
    this.current = { ...config.cloud.defaults };
  }

  async onModuleInit(): Promise<void> {
    const saved = (await this.settings.getAll())[SETTINGS_KEY] as Record<string, unknown> | undefined;
    if (saved) {
      const usable = this.usableOverrides(saved);
      this.current = { ...this.config.cloud.defaults, ...usable };
      this.logger.log(`Loaded saved cloud settings: ${JSON.stringify(usable)}`);
    }
  }

  /**
   * The saved overrides that still fit the settings' types. Older versions saved null for a field sent as
   * null (which removed the budget or blocked every spawn); such a value is dropped, so the environment's
   * default applies again, and the operator is told.
   */
  private usableOverrides(saved: Record<string, unknown>): Partial<CloudSettings> {
    const invalid = this.invalidKeys(saved);
    for (const key of invalid) {
      this.logger.warn(
        `Ignoring saved cloud setting ${key}=${JSON.stringify(saved[key])}: not a valid value`,
      );
    }
    return Object.fromEntries(Object.entries(saved).filter(([key]) => !invalid.includes(key)));
  }

  /** Keys that are no setting, or whose value is not of the setting's type (null, NaN, a string...). */
  private invalidKeys(values: Record<string, unknown>): string[] {
    const defaults = this.config.cloud.defaults as unknown as Record<string, unknown>;
    return Object.entries(values)
      .filter(
        ([key, value]) =>
          !Object.hasOwn(defaults, key) ||
          typeof value !== typeof defaults[key] ||
          (typeof value === 'number' && !Number.isFinite(value)) ||
          (key === 'routingPreference' && !(ROUTING_PREFERENCES as readonly unknown[]).includes(value)),
      )
      .map(([key]) => key);
  }

  get(): CloudSettings {
    return { ...this.current };
  }

  /** Applies and persists a validated partial update; returns the new settings. */
  async update(patch: Partial<CloudSettings>): Promise<CloudSettings> {
    const defined = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
    // The HTTP DTO refuses null; this guards callers in-process, for whom null would silently mean "none".
    const invalid = this.invalidKeys(defined);
    if (invalid.length > 0) throw new InvalidInputError(`${invalid.join(', ')}: not a valid value`);
    const next = { ...this.current, ...defined };
    const overrides = Object.fromEntries(
      Object.entries(next).filter(
        ([key, value]) => this.config.cloud.defaults[key as keyof CloudSettings] !== value,
      ),
    );
    await this.settings.setMany({ [SETTINGS_KEY]: overrides });
    this.current = next;
    this.logger.log(`Cloud settings updated: ${JSON.stringify(defined)}`);
    return this.get();
  }
}
