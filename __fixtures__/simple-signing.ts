/**
 * cosign's older "simple signing" payload, as `cosign sign --new-bundle-format=false` writes
 * it into a `.sig` layer: the image's reference and the manifest digest it signs.
 */
export function simpleSigningPayload(reference: string, digest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': reference },
        image: { 'docker-manifest-digest': digest },
        type: 'cosign container image signature'
      },
      optional: null
    })
  )
}
