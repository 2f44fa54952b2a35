/// How far one long piece of work has come, for progress displays: the packages one platform's
/// `go build` compiled, the tarballs packed, the bytes pushed or uploaded. Steps report it as it
/// changes; the display decides how often to show it.
public struct WorkProgress: Sendable, Hashable {
    /// What kind of work.
    public enum Activity: String, Sendable, Hashable {
        case compile, pack, push, upload
        /// Image tarballs written (the images step).
        case image
    }

    /// What `done` and `total` count.
    public enum Unit: String, Sendable, Hashable {
        case packages, files, bytes
    }

    public var activity: Activity
    /// What is worked on: a platform (`linux/amd64`), `release-tars`, a registry or a file.
    public var subject: String
    public var done: Int64
    /// Nil while not known (yet).
    public var total: Int64?
    public var unit: Unit
    /// What waits on this work: the binaries of a `go build`, the tarballs being packed.
    public var waiting: [String]
    /// The last report of this work: `done` is final.
    public var finished: Bool

    public init(
        activity: Activity, subject: String, done: Int64, total: Int64?, unit: Unit, waiting: [String] = [],
        finished: Bool = false
    ) {
        self.activity = activity
        self.subject = subject
        self.done = done
        self.total = total
        self.unit = unit
        self.waiting = waiting
        self.finished = finished
    }

    /// Identifies one piece of work across its reports.
    public var key: String { activity.rawValue + " " + subject }
}
