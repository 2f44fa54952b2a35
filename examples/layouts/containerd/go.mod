module github.com/containerd/containerd

go 1.19
