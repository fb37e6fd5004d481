// The executor lands here.
