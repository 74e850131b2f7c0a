// Reads an iCalendar feed on stdin with node-ical (a reader many JavaScript apps use) and
// prints the events' instants as JSON, in the shape of read.mjs.
import ical from "node-ical";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const parsed = ical.sync.parseICS(Buffer.concat(chunks).toString("utf8"));

const events = Object.values(parsed)
  .filter((item) => item.type === "VEVENT")
  .map((event) => ({
    uid: event.uid,
    summary: typeof event.summary === "string" ? event.summary : event.summary?.val,
    tzid: event.start.tz ?? null,
    start: event.start.toISOString(),
    end: event.end.toISOString(),
  }));
console.log(JSON.stringify({ events }));
