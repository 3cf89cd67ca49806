//! Integration tests and examples of mpisim live in tests/ and examples/.
