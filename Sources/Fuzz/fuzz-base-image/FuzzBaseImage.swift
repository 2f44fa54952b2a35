import Foundation
import FuzzSupport
import KbuildImage

/// The base image reader on arbitrary bytes: a clean `ImageError` or a verified image, and nothing
/// written outside its scratch directory.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let root = Fuzz.directory
    let input = root + "/input.tar"
    let scratch = root + "/scratch"
    Fuzz.write(Fuzz.bytes(data, size), to: input)
    do {
        let base = try BaseImage.load(path: input, scratch: scratch)
        if base.images.isEmpty { Fuzz.fail("load returned no image") }
        for layer in base.images.flatMap(\.layers) {
            let attributes = try? FileManager.default.attributesOfItem(atPath: layer.file)
            guard layer.file.hasPrefix(scratch + "/"), (attributes?[.size] as? Int64) == layer.size else {
                Fuzz.fail("layer \(layer.file) is not a \(layer.size)-byte file under \(scratch)")
            }
        }
    } catch is ImageError {
        // The expected outcome for almost every input.
    } catch {
        Fuzz.fail("load threw \(type(of: error)), not ImageError: \(error)")
    }
    // The reader may only have created plain files in scratch (hack/fuzz checks the working directory).
    let left = Fuzz.names(in: root)
    guard left == ["input.tar", "scratch"] || left == ["input.tar"] else {
        Fuzz.fail("load left \(left) in \(root); only scratch may be written")
    }
    for name in Fuzz.names(in: scratch) {
        let path = scratch + "/" + name
        let type = (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType
        guard type == .typeRegular else { Fuzz.fail("load created \(path) of type \(String(describing: type))") }
        try? FileManager.default.removeItem(atPath: path)
    }
    return 0
}

@main enum FuzzBaseImage {
    static func main() { Fuzz.run { data, size in withInput(data, size, fuzz) } }
}
