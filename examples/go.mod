module k8s.io/example

go 1.19
