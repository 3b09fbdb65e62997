// Server-sent events read from a fetch() body, so POST requests can stream too
// (EventSource only does GET and cannot be given a body or headers).

function parseEvent(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return null;
  const text = data.join("\n");
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Plain-text data (e.g. "[DONE]") is passed on as a string.
  }
  return { event, data: parsed };
}

/** Yields {event, data} for each event of a text/event-stream Response. */
export async function* readEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n?/g, "\n");
      let cut = buffer.indexOf("\n\n");
      while (cut !== -1) {
        const parsed = parseEvent(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
        if (parsed) yield parsed;
        cut = buffer.indexOf("\n\n");
      }
    }
    const last = parseEvent(buffer.trim());
    if (last) yield last;
  } finally {
    reader.releaseLock();
  }
}
