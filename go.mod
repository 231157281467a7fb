module github.com/vmoments/vmoments

go 1.26
