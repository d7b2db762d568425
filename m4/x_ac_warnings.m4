# X_AC_WARNINGS
# -------------
# Warnings and hardening on for our code. SLURM's internal headers are
# included with -isystem by the plugins' CPPFLAGS so they do not trip them.
AC_DEFUN([X_AC_WARNINGS], [
  AC_ARG_ENABLE([werror],
    [AS_HELP_STRING([--enable-werror], [turn warnings into errors])],
    [], [enable_werror=no])
  AIF_CFLAGS="-std=gnu11 -Wall -Wextra -Wshadow -Wformat=2 -Wformat-security"
  AIF_CFLAGS="$AIF_CFLAGS -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter"
  AIF_CFLAGS="$AIF_CFLAGS -fstack-protector-strong -fno-strict-aliasing -fvisibility=default"
  AIF_CPPFLAGS="-D_FORTIFY_SOURCE=2"
  AIF_LDFLAGS="-Wl,-z,relro -Wl,-z,now"
  AS_IF([test "x$enable_werror" = xyes], [AIF_CFLAGS="$AIF_CFLAGS -Werror"])
  AC_SUBST([AIF_CFLAGS])
  AC_SUBST([AIF_CPPFLAGS])
  AC_SUBST([AIF_LDFLAGS])
])
