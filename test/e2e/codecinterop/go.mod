module secure-temporal/e2e/codecinterop

go 1.22
