import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { CloudDefaults } from '../config/app-config';
import type { AppConfig } from '../config/app-config';
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
    const saved = (await this.settings.getAll())[SETTINGS_KEY] as Partial<CloudSettings> | undefined;
    if (saved) {
      this.current = { ...this.config.cloud.defaults, ...saved };
      this.logger.log(`Loaded saved cloud settings: ${JSON.stringify(saved)}`);
    }
  }

  get(): CloudSettings {
    return { ...this.current };
  }

  /** Applies and persists a validated partial update; returns the new settings. */
  async update(patch: Partial<CloudSettings>): Promise<CloudSettings> {
    const defined = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
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
