"""The test kit: helpers the tests (and the benchmarks in scripts/) import: servers, browsers, digit sets."""
