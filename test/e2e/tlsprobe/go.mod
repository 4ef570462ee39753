module secure-temporal/e2e/tlsprobe

go 1.22
