// Command kube-apiserver serves the Kubernetes API (an example binary for kbuild).
package main

import "k8s.io/example/pkg/cli"

func main() {
	cli.Main("kube-apiserver", "serves the Kubernetes API")
}
