# X_AC_SLURM
# ----------
# --with-slurm-src=DIR: a configured SLURM source tree (it has config.h)
# whose version is exactly that of the installed SLURM. A plugin built
# against another micro version is refused by slurmctld, which then exits,
# so a mismatch is an error here rather than an outage later.
AC_DEFUN([X_AC_SLURM], [
  AC_ARG_WITH([slurm-src],
    [AS_HELP_STRING([--with-slurm-src=DIR],
      [configured SLURM source tree of the installed version (required)])],
    [SLURM_SRC=$withval], [SLURM_SRC=])
  AS_IF([test -z "$SLURM_SRC"],
    [AC_MSG_ERROR([--with-slurm-src=DIR is required: the plugins need SLURM's internal headers. Run contrib/bootstrap.sh as root, which fetches the source of the installed SLURM with 'apt-get source slurm-wlm', configures it and passes it here.])])
  SLURM_SRC=`cd "$SLURM_SRC" 2>/dev/null && pwd`
  AS_IF([test ! -f "$SLURM_SRC/src/slurmctld/slurmctld.h"],
    [AC_MSG_ERROR([$with_slurm_src is not a SLURM source tree (no src/slurmctld/slurmctld.h)])])
  AS_IF([test ! -f "$SLURM_SRC/config.h"],
    [AC_MSG_ERROR([$SLURM_SRC is not configured (no config.h): run ./configure in it first (make is not needed)])])

  AC_CHECK_HEADER([slurm/slurm_version.h], [],
    [AC_MSG_ERROR([SLURM development headers not found: install libslurm-dev])])
  # slurm_version.h has SLURM_VERSION_NUMBER (0x160508) in both trees.
  _x_ac_num() {
    sed -n 's/^#define SLURM_VERSION_NUMBER *//p' | head -n 1 | tr -d ' \t'
  }
  # ...as a dotted version from $_x_ac_n (m4 would eat positional args).
  _x_ac_dotted() {
    test -n "$_x_ac_n" || return 0
    printf '%d.%02d.%d' $(( _x_ac_n >> 16 & 255 )) $(( _x_ac_n >> 8 & 255 )) $(( _x_ac_n & 255 ))
  }
  AC_MSG_CHECKING([the installed SLURM version])
  _x_ac_inc=
  for d in $CPPFLAGS /usr/include /usr/local/include; do
    d=${d#-I}
    test -f "$d/slurm/slurm_version.h" && { _x_ac_inc=$d; break; }
  done
  _x_ac_n=`_x_ac_num <"$_x_ac_inc/slurm/slurm_version.h"`
  SLURM_VERSION=`_x_ac_dotted`
  AC_MSG_RESULT([$SLURM_VERSION])
  AC_MSG_CHECKING([the SLURM source version])
  _x_ac_n=`cat "$SLURM_SRC/slurm/slurm_version.h" 2>/dev/null | _x_ac_num`
  _x_ac_srcver=`_x_ac_dotted`
  AC_MSG_RESULT([$_x_ac_srcver])
  AS_IF([test -z "$SLURM_VERSION"],
    [AC_MSG_ERROR([cannot read SLURM_VERSION_NUMBER from $_x_ac_inc/slurm/slurm_version.h])])
  AS_IF([test "x$_x_ac_srcver" != "x$SLURM_VERSION"],
    [AC_MSG_ERROR([SLURM source $SLURM_SRC is ${_x_ac_srcver:-of unknown version} but the installed SLURM is $SLURM_VERSION. slurmctld refuses plugins of another version and exits. Fetch the matching source ('apt-get source slurm-wlm' for Debian's package, or re-run contrib/bootstrap.sh) and configure it.])])
  AS_IF([command -v slurmctld >/dev/null 2>&1], [
    _x_ac_run=`slurmctld -V 2>/dev/null | cut -d' ' -f2`
    AS_IF([test -n "$_x_ac_run" && test "x$_x_ac_run" != "x$SLURM_VERSION"],
      [AC_MSG_ERROR([slurmctld on this machine is $_x_ac_run but the SLURM headers are $SLURM_VERSION: install the libslurm-dev that matches slurmctld])])])

  AC_ARG_WITH([plugindir],
    [AS_HELP_STRING([--with-plugindir=DIR],
      [where SLURM loads plugins from (default: SLURM's own PluginDir: slurm.conf's PluginDir, else the directory of the installed SLURM's plugins)])],
    [plugindir=$withval], [plugindir=])
  AC_MSG_CHECKING([SLURM's PluginDir])
  AS_IF([test -z "$plugindir"], [
    # slurm.conf's PluginDir (its first directory), where one is set...
    for _x_ac_conf in "$SLURM_CONF" /etc/slurm/slurm.conf /etc/slurm-llnl/slurm.conf; do
      test -n "$_x_ac_conf" && test -f "$_x_ac_conf" || continue
      plugindir=`sed -n 's/^[[ \t]]*[[Pp]]lugin[[Dd]]ir[[ \t]]*=[[ \t]]*\([[^: \t#]]*\).*/\1/p' "$_x_ac_conf" | tail -n 1`
      break
    done])
  AS_IF([test -z "$plugindir"], [
    # ...else where SLURM's own plugins are, beside libslurm (Debian:
    # slurm-wlm/, the RPMs and a source install: slurm/).
    _x_ac_lib=`$CC -print-file-name=libslurm.so 2>/dev/null`
    _x_ac_lib=`cd "\`dirname "$_x_ac_lib"\`" 2>/dev/null && pwd -P`
    for _x_ac_d in "$_x_ac_lib/slurm-wlm" "$_x_ac_lib/slurm" /usr/lib64/slurm /usr/local/lib/slurm; do
      test -f "$_x_ac_d/auth_munge.so" && { plugindir=$_x_ac_d; break; }
    done])
  AC_MSG_RESULT([${plugindir:-not found}])
  AS_IF([test -z "$plugindir"],
    [AC_MSG_ERROR([cannot find SLURM's PluginDir: slurm.conf sets none and no auth_munge.so is beside libslurm. Give it with --with-plugindir=DIR (scontrol show config | grep PluginDir).])])
  AC_SUBST([SLURM_SRC])
  AC_SUBST([SLURM_VERSION])
  AC_SUBST([plugindir])
])
