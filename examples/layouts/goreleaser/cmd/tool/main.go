// Command tool stands in for the project's binary of that name (an example for kbuild's layouts).
package main

import (
	"fmt"

	"example.com/tool/version"
)

func main() {
	fmt.Println("tool", version.Version, version.Revision)
}
