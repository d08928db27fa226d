/**
 * A JSON object from text a model or a store wrote: {} for empty text, text that is not JSON,
 * or JSON that is not an object (a tool's arguments are always an object).
 */
export function jsonObjectOf(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}
