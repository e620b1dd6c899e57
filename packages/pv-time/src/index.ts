// Not implemented yet: issue #8 fills this package. It exports nothing until then.
export {};
