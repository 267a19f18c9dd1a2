// The errors of signing and verifying: a key that cannot be used (bad input, exit 2), a signing
// service that refused, a signature that does not verify (the run failed, exit 1). None of them
// ever quotes a key, a password or a token.
import { ModelcarError } from '../errors/modelcar-error.js'

export const signErrors = {
  /** The key the recipe or the command line names cannot be read, decrypted or used. */
  keyInvalid(where: string, message: string, hint?: string): ModelcarError {
    return new ModelcarError('SIGN_KEY_INVALID', `signing key ${where}: ${message}`, { hint, input: true })
  },
  /** Keyless signing has no identity to sign as. */
  identityMissing(hint: string): ModelcarError {
    return new ModelcarError('SIGN_IDENTITY_MISSING', 'keyless signing needs an OIDC identity token, and none was found', {
      hint,
      input: true,
    })
  },
  /** Fulcio or Rekor refused, or could not be reached. */
  signingFailed(message: string, hint?: string): ModelcarError {
    return new ModelcarError('SIGN_FAILED', `keyless signing failed: ${message}`, { hint })
  },
  /** A sink that cannot store attachments, for a recipe that attaches something. */
  attachUnsupported(sink: string): ModelcarError {
    return new ModelcarError('ATTACH_UNSUPPORTED', `[${sink}] this sink cannot store attachments (SBOM, provenance, signatures)`, {
      component: sink,
      hint: 'use a sink that can (`oci-layout`, `registry`, `skopeo`, `oras`), or remove `attach` and `sign` from the recipe',
      input: true,
    })
  },
  /** What `modelcar verify` found wrong. */
  verifyFailed(message: string, hint?: string): ModelcarError {
    return new ModelcarError('VERIFY_FAILED', message, { hint })
  },
}
