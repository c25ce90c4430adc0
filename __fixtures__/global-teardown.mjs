// Jest global teardown: the crane reporter's closing lines, after jest's summary.
export default function globalTeardown() {
  const text = process.env.IMAGE_MIRROR_CRANE_LEFT_OUT
  if (text) process.stderr.write(text)
}
