/**
 * Loaded by mocha before any test file (`require` in `.mocharc.json` and
 * `jstests/.mocharc.json`): what every process the tests start inherits.
 *
 * Without `NODE_EXTRA_CA_CERTS`: Node reads and parses the certificates it names at every
 * start, before any program runs (about 40 ms here for the system's bundle), and the suites
 * start servers and tools by the thousand. Nothing they start makes a TLS connection: the
 * driver, the servers and the PostgreSQL page log all connect in the clear, on this host.
 */
delete process.env.NODE_EXTRA_CA_CERTS;
