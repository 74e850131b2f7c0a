// Reads an iCalendar feed on stdin with Mozilla's ical.js and prints what a client sees as
// JSON. Only the feed's own VTIMEZONEs are registered, so times depend on them alone.
import ICAL from "ical.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const calendar = new ICAL.Component(ICAL.parse(Buffer.concat(chunks).toString("utf8")));

for (const zone of calendar.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(zone);
}
const text = (name) => calendar.getFirstPropertyValue(name);
const events = calendar.getAllSubcomponents("vevent").map((component) => {
  const event = new ICAL.Event(component);
  return {
    uid: event.uid,
    summary: event.summary,
    description: event.description,
    location: event.location,
    status: component.getFirstPropertyValue("status"),
    sequence: event.sequence,
    url: component.getFirstPropertyValue("url"),
    tzid: event.startDate.zone ? event.startDate.zone.tzid : null,
    local_start: event.startDate.toString(),
    start: event.startDate.toJSDate().toISOString(),
    end: event.endDate.toJSDate().toISOString(),
  };
});
console.log(JSON.stringify({
  properties: calendar.getAllProperties().map((p) => p.name.toUpperCase()),
  name: text("x-wr-calname"),
  version: text("version"),
  timezones: calendar.getAllSubcomponents("vtimezone").map((z) => z.getFirstPropertyValue("tzid")),
  events,
}));
