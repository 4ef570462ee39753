module goverify

go 1.22
