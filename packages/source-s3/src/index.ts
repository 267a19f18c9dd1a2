// @modelcar/source-s3: source `s3`.
export {}
