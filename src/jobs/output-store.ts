import { Inject, Injectable } from '@nestjs/common';
import { createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { NotFoundError } from '../common/domain-errors';
import { safeOutputPath } from '../comfyui/comfyui-outputs';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import type { JobOutputRecord } from '../persistence/entities/job.entity';

/**
 * Files of jobs on disk: inputs under DATA_DIR/inputs/<jobId>/, outputs under DATA_DIR/outputs/<jobId>/.
 * Every name goes through `safeOutputPath`, so nothing a worker reports can escape the job's folder.
 */
@Injectable()
export class OutputStore {
  private readonly root: string;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.root = resolve(config.dataDir);
  }

  private folder(kind: 'inputs' | 'outputs', jobId: string): string {
    return safeOutputPath(join(this.root, kind), '', jobId);
  }

  async saveInput(jobId: string, name: string, data: Buffer): Promise<void> {
    const folder = this.folder('inputs', jobId);
    await mkdir(folder, { recursive: true });
    await writeFile(safeOutputPath(folder, '', name), data);
  }

  async readInput(jobId: string, name: string): Promise<Buffer> {
    return readFile(safeOutputPath(this.folder('inputs', jobId), '', name));
  }

  /** Where a new output goes (its folder created): a name already taken in this job gets a numeric suffix. */
  private async outputPath(
    jobId: string,
    filename: string,
    taken: Set<string>,
  ): Promise<{ name: string; path: string }> {
    const folder = this.folder('outputs', jobId);
    await mkdir(folder, { recursive: true });
    let name = filename;
    for (let n = 1; taken.has(name); n++) name = filename.replace(/(\.[^.]*)?$/, (ext) => `_${n}${ext}`);
    return { name, path: safeOutputPath(folder, '', name) };
  }

  /** Stores one output; a name already taken in this job gets a numeric suffix. */
  async saveOutput(
    jobId: string,
    filename: string,
    data: Buffer,
    contentType: string,
    taken: Set<string>,
  ): Promise<JobOutputRecord> {
    const { name, path } = await this.outputPath(jobId, filename, taken);
    taken.add(name);
    await writeFile(path, data);
    return { filename: name, contentType, size: data.length };
  }

  /**
   * Stores one output from a stream (a download), written to disk as it arrives, never held in memory whole.
   * If the stream fails, the partial file is removed and the error rethrown.
   */
  async saveOutputStream(
    jobId: string,
    filename: string,
    source: Readable,
    contentType: string,
    taken: Set<string>,
  ): Promise<JobOutputRecord> {
    const { name, path } = await this.outputPath(jobId, filename, taken);
    const file = createWriteStream(path);
    try {
      await pipeline(source, file);
    } catch (error) {
      await rm(path, { force: true });
      throw error;
    }
    taken.add(name);
    return { filename: name, contentType, size: file.bytesWritten };
  }

  async openOutput(jobId: string, filename: string): Promise<{ stream: ReadStream; size: number }> {
    let path: string;
    try {
      path = safeOutputPath(this.folder('outputs', jobId), '', filename);
    } catch {
      throw new NotFoundError(`Job ${jobId} has no output ${filename}`);
    }
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) throw new NotFoundError(`Job ${jobId} has no output ${filename}`);
    return { stream: createReadStream(path), size: info.size };
  }

  /** Drops a retried attempt's partial outputs before the next attempt writes its own. */
  async clearOutputs(jobId: string): Promise<void> {
    await rm(this.folder('outputs', jobId), { recursive: true, force: true });
  }
}
