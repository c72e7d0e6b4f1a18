// time.ts - relative times ("3 min ago") with the exact time for the hover title.

export function relativeTime(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.round((now - t) / 1000);
  const future = s < 0;
  const a = Math.abs(s);
  let text: string;
  if (a < 10) return 'just now';
  if (a < 60) text = `${a} s`;
  else if (a < 3600) text = `${Math.floor(a / 60)} min`;
  else if (a < 86400) text = `${Math.floor(a / 3600)} h`;
  else if (a < 86400 * 30) text = `${Math.floor(a / 86400)} d`;
  else if (a < 86400 * 365) text = `${Math.floor(a / (86400 * 30))} mo`;
  else text = `${Math.floor(a / (86400 * 365))} y`;
  return future ? `in ${text}` : `${text} ago`;
}

// "2026-12-03 11:42:05 UTC" (and the local time when it differs), for title attributes.
export function exactTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const utc = d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC');
  const local = d.toLocaleString();
  return `${utc} (${local} local)`;
}
