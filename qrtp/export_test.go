package qrtp

import "github.com/qrtn/qrtn/qrtp/fec"

// FECLossForTest is the loss FEC is sized for after fates packets, lost of
// them spread evenly, as the estimator would see them.
func FECLossForTest(fates, lost int) float64 {
	est := fec.NewEstimator(fecEstimatorWindow)
	for i := range fates {
		est.Observe((i+1)*lost/fates != i*lost/fates)
	}
	p, _ := fecLoss(est)
	return p
}
