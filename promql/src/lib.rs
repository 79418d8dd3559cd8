//! A PromQL evaluator over `promql-parser`'s syntax tree, independent of any storage.
