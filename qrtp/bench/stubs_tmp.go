package bench

import "errors"

func runMedia(s *Scenario) (Result, error)    { return Result{}, errors.New("todo") }
func runProbeRTT(s *Scenario) (Result, error) { return Result{}, errors.New("todo") }
func runShared(s *Scenario) (Result, error)   { return Result{}, errors.New("todo") }
