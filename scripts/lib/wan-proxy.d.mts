export interface WanProxy {
  /** `127.0.0.1:<port>`: where the tools reach the registry through the link. */
  host: string
  rttMs: number
  mbitPerSecond: number
  close(): Promise<void>
}
export function startWanProxy(options: {
  target: string
  rttMs?: number
  mbitPerSecond?: number
}): Promise<WanProxy>
export function measureLink(
  host: string,
  blobPath: string,
  samples?: number
): Promise<{ rttMs: number; mbitPerSecond: number; probeBytes: number }>
