import Foundation

/// A PEM file of CA certificates given to kbuild (`--ca-file`, `publish.caFile`).
public enum CertificateFile {
    /// What is wrong with `path`, or nil: it must be a readable regular file (no FIFO waited on) of at most
    /// 4 MiB holding at least one PEM certificate. Checked before any request.
    public static func problem(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return "cannot be read: \(String(cString: strerror(errno)))" }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return "is not a regular file" }
        guard info.st_size <= 4 << 20 else { return "is larger than 4 MiB" }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        let got = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard got >= 0 else { return "cannot be read: \(String(cString: strerror(errno)))" }
        guard String(decoding: bytes.prefix(got), as: UTF8.self).contains("-----BEGIN CERTIFICATE-----") else {
            return "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        }
        return nil
    }
}
