// @modelcar/testing: the conformance kit for component authors.
export {}
