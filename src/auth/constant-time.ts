// Constant-time comparison of secrets, so response timing says nothing about how much of a
// guessed password was right. Both sides are hashed first, which also hides their lengths.

const encoder = new TextEncoder();

export async function secretsEqual(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(given)),
    crypto.subtle.digest("SHA-256", encoder.encode(expected)),
  ]);
  return crypto.subtle.timingSafeEqual(a, b);
}
