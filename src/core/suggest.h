// Kept for the layers that include the did-you-mean helper by its old path; the declarations are
// public (critmin/core/suggest.h) so the CLI can suggest flags with the same distance.
#pragma once

#include "critmin/core/suggest.h"
