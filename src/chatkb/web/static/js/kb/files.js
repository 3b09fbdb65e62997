// Turning a drop or a file picker into {file, path} entries, folders included.

const hidden = (name) => name.startsWith(".");

function readFile(entry) {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

function readBatch(reader) {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

async function walk(entry, prefix, out) {
  if (hidden(entry.name)) return;
  if (entry.isFile) {
    out.push({ file: await readFile(entry), path: prefix + entry.name });
    return;
  }
  if (!entry.isDirectory) return;
  const reader = entry.createReader();
  // readEntries returns at most ~100 entries per call: keep reading until it returns none.
  for (let batch = await readBatch(reader); batch.length; batch = await readBatch(reader)) {
    for (const child of batch) await walk(child, `${prefix}${entry.name}/`, out);
  }
}

/** Files and whole folders from a drop; folder structure is kept in `path`. */
export async function entriesFromDrop(dataTransfer) {
  // Entries must be taken synchronously: the items list is emptied after the event.
  const roots = [...(dataTransfer.items ?? [])]
    .filter((item) => item.kind === "file")
    .map((item) => item.webkitGetAsEntry?.())
    .filter(Boolean);
  if (!roots.length) {
    return [...dataTransfer.files]
      .filter((f) => !hidden(f.name))
      .map((file) => ({ file, path: file.name }));
  }
  const out = [];
  for (const entry of roots) await walk(entry, "", out);
  return out;
}

/** Files from an <input type=file> (with webkitdirectory, paths keep the folder). */
export function entriesFromInput(input) {
  return [...input.files]
    .map((file) => ({ file, path: file.webkitRelativePath || file.name }))
    .filter(({ path }) => !path.split("/").some(hidden));
}

/** Group entries into requests of at most `maxFiles` files and about `maxBytes` bytes. */
export function batches(entries, maxFiles = 20, maxBytes = 32 * 2 ** 20) {
  const out = [];
  let current = [];
  let size = 0;
  for (const entry of entries) {
    if (current.length && (current.length >= maxFiles || size + entry.file.size > maxBytes)) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(entry);
    size += entry.file.size;
  }
  if (current.length) out.push(current);
  return out;
}
