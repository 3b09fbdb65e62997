// Upload queue of one knowledge base: sends files in batches with per-file progress, then
// follows each batch's ingestion job (SSE, falling back to polling) until every file is done.
import * as api from "../api.js";
import { batches } from "./files.js";

const uploaders = new Map();
const FINAL = new Set(["added", "updated", "unchanged", "failed", "removed", "cancelled"]);

/** The uploader of `kb`, shared by every render of its page. */
export function uploaderFor(kb) {
  if (!uploaders.has(kb)) uploaders.set(kb, new Uploader(kb));
  return uploaders.get(kb);
}

class Uploader {
  constructor(kb) {
    this.kb = kb;
    this.rows = []; // {id, path, size, status, pct, chunks, error, source, embed}
    this.listeners = new Set();
    this.busy = false;
    this.pending = [];
    this.jobs = new Map(); // job id -> AbortController
    this.nextId = 0;
  }

  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(kind) {
    for (const fn of this.listeners) fn(kind);
  }

  add(entries) {
    const rows = entries.map((entry) => ({
      id: (this.nextId += 1),
      entry,
      path: entry.path,
      size: entry.file.size,
      status: "waiting",
      pct: 0,
    }));
    this.rows.push(...rows);
    this.pending.push(...batches(rows.map((row) => ({ ...row.entry, row }))));
    this.emit("rows");
    this.pump();
  }

  async pump() {
    if (this.busy) return;
    this.busy = true;
    while (this.pending.length) {
      const batch = this.pending.shift();
      const live = batch.filter(({ row }) => row.status === "waiting");
      if (live.length) await this.send(live);
    }
    this.busy = false;
  }

  async send(batch) {
    const sizes = batch.map(({ file }) => file.size);
    this.controller = new AbortController();
    for (const { row } of batch) row.status = "uploading";
    try {
      const result = await api.uploadDocuments(
        this.kb,
        batch,
        (loaded, total) => this.progress(batch, sizes, loaded, total),
        this.controller.signal,
      );
      batch.forEach(({ row }, i) => {
        row.source = result?.sources?.[i] ?? row.path;
        row.jobId = result?.job?.id ?? null;
        row.status = result?.job ? "queued" : "unchanged";
        row.pct = 100;
      });
      this.emit("rows");
      if (result?.job) this.follow(result.job);
    } catch (err) {
      for (const { row } of batch) {
        row.status = err.code === "aborted" ? "cancelled" : "failed";
        row.error = err.code === "aborted" ? null : err.message;
      }
      this.emit("rows");
    }
  }

  // The multipart body carries the files in order, so bytes sent map onto files in order.
  progress(batch, sizes, loaded, total) {
    const overhead = Math.max(0, total - sizes.reduce((a, b) => a + b, 0));
    let remaining = Math.max(0, loaded - overhead / 2);
    batch.forEach(({ row }, i) => {
      const part = Math.min(remaining, sizes[i]);
      row.pct = sizes[i] ? Math.round((100 * part) / sizes[i]) : loaded >= total ? 100 : 0;
      remaining -= part;
    });
    this.emit("progress");
  }

  async follow(job) {
    const controller = new AbortController();
    this.jobs.set(job.id, controller);
    this.apply(job);
    try {
      for await (const { data } of api.jobEvents(job.id, controller.signal)) this.apply(data);
    } catch {
      if (!controller.signal.aborted) await this.poll(job.id, controller.signal);
    }
    this.jobs.delete(job.id);
    this.emit("done");
  }

  async poll(jobId, signal) {
    while (!signal.aborted) {
      const job = await api.getJob(jobId).catch(() => null);
      if (!job) return;
      this.apply(job);
      if (["done", "failed", "cancelled"].includes(job.status)) return;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  apply(job) {
    const mine = this.rows.filter((r) => r.jobId === job.id);
    const bySource = new Map(mine.map((r) => [r.source, r]));
    for (const outcome of job.files ?? []) {
      const row = bySource.get(outcome.source);
      if (!row) continue;
      row.status = outcome.status;
      row.chunks = outcome.chunks;
      row.error = outcome.error ?? null;
      row.embed = null;
    }
    const current = job.current ? bySource.get(job.current) : null;
    if (current && !FINAL.has(current.status)) {
      current.status = "processing";
      current.embed = job.embed_total ? { done: job.embedded, total: job.embed_total } : null;
    }
    if (["done", "failed", "cancelled"].includes(job.status)) this.settle(job, bySource);
    this.job = job;
    this.emit("rows");
  }

  // Files a finished job never reached: cancelled, or failed with the job's own error.
  settle(job, bySource) {
    for (const row of bySource.values()) {
      if (!["queued", "processing"].includes(row.status)) continue;
      row.status = job.status === "failed" ? "failed" : "cancelled";
      row.error = job.error ?? null;
    }
  }

  cancel() {
    for (const batch of this.pending) for (const { row } of batch) row.status = "cancelled";
    this.pending = [];
    this.controller?.abort();
    for (const id of this.jobs.keys()) api.cancelJob(id).catch(() => {});
    this.emit("rows");
  }

  clearFinished() {
    this.rows = this.rows.filter((row) => !FINAL.has(row.status));
    this.emit("rows");
  }

  get active() {
    return this.rows.some((row) => !FINAL.has(row.status));
  }

  summary() {
    const done = this.rows.filter((row) => FINAL.has(row.status)).length;
    const failed = this.rows.filter((row) => row.status === "failed").length;
    return { done, failed, total: this.rows.length };
  }
}
