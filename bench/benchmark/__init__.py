"""The benchmark behind `./dev bench`, one job a module:

- `command`: the options and the order of the phases (`main`, run by `bench/run.py`);
- `system`: the system under test started on SQLite or PostgreSQL, the driver's token
  (`bench_token`), waiting until every relay and consumer is done;
- `driver`: the journeys, registration to the first `RepaymentDue`, through the public APIs
  (also the fault suite's and the soak's, through `bench/chaos.py`);
- `bus`: how the driver follows the bus (its durable consumers, when a service has handled an
  event);
- `candidates`: the benchmark's candidates and their CSV;
- `measurements`: the no-op consumer, the registration API's latency, hop latency and rates
  from the outbox and inbox rows, CPU time and peak memory;
- `capacity`: each service's first consumer, and each of the dashboard's consumers of a
  journey's events, draining a backlog;
- `databases`: the services' outbox and inbox rows, read from their databases;
- `report`: the table printed, and its record in BENCHMARKS.md.
"""
