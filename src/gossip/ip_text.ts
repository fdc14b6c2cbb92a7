/**
 * gossip/ip_text: the text of a member's address bytes (4 bytes dotted, 16 bytes as eight
 * uncompressed hex groups), as the SWIM and serf cores and the driver log and key them.
 *
 * Must never: import a runtime module (the pure cores use it).
 */

export function ipText(a: Uint8Array): string {
  if (a.length === 4) return a.join(".");
  const parts: string[] = [];
  for (let i = 0; i + 1 < a.length; i += 2) parts.push((((a[i] ?? 0) << 8) | (a[i + 1] ?? 0)).toString(16));
  return parts.join(":");
}
