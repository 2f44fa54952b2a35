module go.etcd.io/etcd

go 1.19
