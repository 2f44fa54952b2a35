import ArgumentParser
import KbuildVersion

extension VersionStyle: ExpressibleByArgument {}
