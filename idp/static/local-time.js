// The pages' one script: each <time data-local> written in UTC by the server
// is shown in the reader's own time zone instead; the UTC value stays in its
// title. Without it the page reads the same, in UTC.
for (const t of document.querySelectorAll('time[data-local]')) {
  const at = new Date(t.dateTime);
  if (Number.isNaN(at.getTime())) continue;
  const clock = { hour: '2-digit', minute: '2-digit', timeZoneName: 'short' };
  const options = t.dataset.local === 'date'
    ? { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', ...clock }
    : clock;
  t.textContent = new Intl.DateTimeFormat(undefined, options).format(at);
  t.title = `${t.dateTime} (UTC)`;
}
