// The AWS SDK is loaded when an `s3` source first talks to a bucket, not when the CLI starts:
// importing it costs about 10 MB of memory that every run without S3 would otherwise pay.
type ClientS3 = typeof import('@aws-sdk/client-s3')
type CredentialProviderNode = typeof import('@aws-sdk/credential-provider-node')

let clientS3: Promise<ClientS3> | undefined
let credentialProvider: Promise<CredentialProviderNode> | undefined

export const loadClientS3 = (): Promise<ClientS3> => (clientS3 ??= import('@aws-sdk/client-s3'))
export const loadCredentialProvider = (): Promise<CredentialProviderNode> =>
  (credentialProvider ??= import('@aws-sdk/credential-provider-node'))
