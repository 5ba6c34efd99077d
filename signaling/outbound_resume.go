package signaling

// Messages of resume and migration (PROTOCOL.md, "Resume and migration").
type (
	resumeTokenOut struct {
		Type         string        `json:"type"`
		Resume       resumeJSON    `json:"resume"`
		Alternatives []Alternative `json:"alternatives"`
	}
	migrateOut struct {
		Type   string `json:"type"`
		Node   string `json:"node"`
		Region string `json:"region,omitempty"`
		URL    string `json:"url"`
		Reason string `json:"reason"`
	}
)

// Error codes of resume and migration.
const (
	CodeBadResume     = "bad_resume"
	CodeResumeExpired = "resume_expired"
	CodeReplaced      = "replaced"
	CodeDraining      = "draining"
)
